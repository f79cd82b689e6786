module github.com/mattermost-rtcd/media-loadgen

go 1.24.13

require (
	github.com/gorilla/websocket v1.5.3
	github.com/pion/ice/v4 v4.2.0
	github.com/pion/interceptor v0.1.44
	github.com/pion/rtcp v1.2.16
	github.com/pion/rtp v1.10.1
	github.com/pion/sdp/v3 v3.0.17
	github.com/pion/transport/v4 v4.0.1
	github.com/pion/webrtc/v4 v4.2.6
	github.com/vmihailenco/msgpack/v5 v5.4.1
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/pion/datachannel v1.6.0 // indirect
	github.com/pion/dtls/v3 v3.1.2 // indirect
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/mdns/v2 v2.1.0 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/sctp v1.9.2 // indirect
	github.com/pion/srtp/v3 v3.0.10 // indirect
	github.com/pion/stun/v3 v3.1.1 // indirect
	github.com/pion/turn/v4 v4.1.4 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	github.com/wlynxg/anet v0.0.5 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	golang.org/x/net v0.50.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/time v0.10.0 // indirect
)

// The same pion forks Mattermost's rtcd v1.2.6 builds with (see
// rtcd/contract/go.mod), so both ends of the benchmark run one pion.
replace github.com/pion/interceptor v0.1.44 => github.com/bgardner8008/interceptor v0.1.44-mm-mods

replace github.com/pion/ice/v4 => github.com/bgardner8008/ice/v4 v4.2.0-role-conflict-fix-v4
