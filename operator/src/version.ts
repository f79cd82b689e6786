// Stamped at image build time through the environment; "dev" when run from source.
export const VERSION_INFO = {
  version: process.env.RTCD_OPERATOR_VERSION ?? "0.1.0-dev",
  commit: process.env.RTCD_OPERATOR_COMMIT ?? "unknown",
};
