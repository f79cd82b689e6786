// The configuration rtcd v1.2.6 reads, with the same nesting as its TOML file,
// plus the `drain` section that only our rtcd has.

export interface ICEServerConfig {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface Config {
  api: {
    http: {
      listen_address: string;
      tls: { enable: boolean; cert_file: string; cert_key: string };
    };
    security: {
      enable_admin: boolean;
      admin_secret_key: string;
      allow_self_registration: boolean;
      session_cache: { expiration_minutes: number };
    };
  };
  rtc: {
    ice_address_udp: string;
    ice_port_udp: number;
    ice_address_tcp: string;
    ice_port_tcp: number;
    ice_host_override: string;
    ice_host_port_override: string;
    ice_servers: ICEServerConfig[];
    turn: { static_auth_secret: string; credentials_expiration_minutes: number };
    enable_ipv6: boolean;
    udp_sockets_count: number;
    nack_buffer_size: number;
    nack_disable_copy: boolean;
  };
  store: { data_source: string };
  logger: {
    enable_console: boolean;
    console_json: boolean;
    console_level: string;
    enable_file: boolean;
    file_json: boolean;
    file_level: string;
    file_location: string;
    enable_color: boolean;
  };
  // Not in rtcd: how long a SIGTERM'd process keeps serving running calls
  // before it closes what is left and exits.
  drain: { deadline_seconds: number };
  // Not in rtcd: mediasoup workers (0 = one per CPU), and the consumers a
  // call's worker holds before its new sessions go to another worker.
  media: { workers: number; consumers_per_worker: number };
  // Not in rtcd: quotas; a refusal is a `close` (joins) or an HTTP error.
  limits: {
    sessions_per_client: number;
    sessions_per_call: number;
    ws_connections_per_client: number;
    registrations: number;
    producers_per_session: number;
    http_connections: number;
  };
}

// Where a value came from, so an error can point at the line to fix.
export type Source = { kind: "default" } | { kind: "file"; path: string } | { kind: "env" };
