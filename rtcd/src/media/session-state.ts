// The shapes of a session and a producer as the forwarding rules read them,
// under their former names: rtcd/test/forwarding.test.ts imports them from
// here and stays unchanged (the state itself lives in session.ts).
import type { SessionConfig } from "../calls/media.ts";
import type { MediaSection, ProducerInfo } from "./forwarding.ts";

export type { ProducerInfo };

export interface PeerSession {
  cfg: SessionConfig;
  sections: MediaSection[];
}
