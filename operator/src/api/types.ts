// The resource envelope; spec and status types are generated from schema.ts.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { MattermostRTCDSpec, MattermostRTCDStatus } from "./types.generated.ts";

export interface MattermostRTCD extends KubernetesObject {
  spec?: MattermostRTCDSpec;
  status?: MattermostRTCDStatus;
}
