/**
 * DERP frames captured from the real derper, for the codec's tests and fuzzer. Test data only:
 * nothing outside tests imports it.
 * @module
 */

/**
 * Frames captured from the real derper v1.98.10 (127.0.0.1, self-signed cert) by a throwaway
 * script speaking raw frames over node:tls. Client A's private key is SHA-256("tailnet-derp-capture-a"),
 * B's is SHA-256("tailnet-derp-capture-b"). The keep-alive arrived 60.6 s after login.
 */
export const DERPER_CAPTURES = {
  "derper-1.98.10-server-key":
    "010000002844455250f09f9491437a52bba91f97c56c48353f385c9ed4b88663f90d8626055a2a99645e218938",
  "derper-1.98.10-server-info-to-a":
    "03000000357ec2bbdd66961ccea6d532b84a24178920853a0cb9c3c48818c141258a6e10e5371a1fd0a22eeb49179c056e8ba8b5733f4b128f40",
  "derper-1.98.10-pong": "13000000080102030405060708",
  "derper-1.98.10-peer-gone-not-here":
    "0800000021424242424242424242424242424242424242424242424242424242424242424201",
  "derper-1.98.10-recv-packet-at-b":
    "050000002cc04cd666f2535fdd5e9cc0b21f5610e2c2a23f1eabbe92daefe90f94f7f69a0468656c6c6f2066726f6d2061",
  "derper-1.98.10-recv-packet-at-a":
    "050000002c5c372208550af7af3b438eefeaa673049b6dacd372b6fd41fd94c52299d5c70468656c6c6f2066726f6d2062",
  "derper-1.98.10-peer-gone-disconnected":
    "08000000215c372208550af7af3b438eefeaa673049b6dacd372b6fd41fd94c52299d5c70400",
  "derper-1.98.10-keep-alive": "0600000000",
} as const;
