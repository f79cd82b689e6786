// The resource envelope; spec and status types are generated from schema.ts.
import type { KubernetesObject } from "@kubernetes/client-node";
import type {
  DefaultedMattermostRTCDSpec,
  MattermostRTCDSpec,
  MattermostRTCDStatus,
} from "./types.generated.ts";

export interface MattermostRTCD extends KubernetesObject {
  spec?: MattermostRTCDSpec;
  status?: MattermostRTCDStatus;
}

/** What applyDefaults returns (and the API server stores): every field with a schema default is set. */
export interface DefaultedMattermostRTCD extends MattermostRTCD {
  spec: DefaultedMattermostRTCDSpec;
}
