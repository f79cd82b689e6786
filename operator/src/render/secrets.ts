// Which Secrets a spec depends on. Secret values never pass through the
// operator: pods read them through secretKeyRef, so the spec, the ConfigMap
// and the status only ever hold names.
import type { MattermostRTCD } from "../api/index.ts";
import { ADMIN_SECRET_KEY, nameOf } from "./names.ts";

export interface SecretReference {
  name: string;
  key: string;
  /** The spec field that names the Secret, for precise error messages. */
  field: string;
}

export function generatedAdminSecretRequired(cr: MattermostRTCD): boolean {
  return !cr.spec?.rtcd?.security?.adminSecretRef;
}

export function adminSecretName(cr: MattermostRTCD): string {
  return cr.spec?.rtcd?.security?.adminSecretRef?.name ?? `${nameOf(cr)}-admin`;
}

export function adminSecretKey(cr: MattermostRTCD): string {
  return cr.spec?.rtcd?.security?.adminSecretRef?.key ?? ADMIN_SECRET_KEY;
}

export function referencedSecrets(cr: MattermostRTCD): SecretReference[] {
  const refs: SecretReference[] = [];
  const r = cr.spec?.rtcd;
  const admin = r?.security?.adminSecretRef;
  if (admin) refs.push({ name: admin.name, key: admin.key, field: "spec.rtcd.security.adminSecretRef" });
  const turn = r?.turn?.staticAuthSecretRef;
  if (turn) refs.push({ name: turn.name, key: turn.key, field: "spec.rtcd.turn.staticAuthSecretRef" });
  if (r?.tls?.enabled && r.tls.secretName) {
    for (const key of ["tls.crt", "tls.key"]) {
      refs.push({ name: r.tls.secretName, key, field: "spec.rtcd.tls.secretName" });
    }
  }
  return refs;
}
