/**
 * IANA IP protocol numbers (the IPv4 Protocol field and IPv6 Next Header) that tailnet's codecs
 * name. One table, shared by ipv4.ts, ipv6.ts and ip.ts.
 * @module
 */

/** IPv6 hop-by-hop options header. */
export const IP_PROTO_HOPOPTS = 0;
/** ICMP for IPv4. */
export const IP_PROTO_ICMP = 1;
/** TCP. */
export const IP_PROTO_TCP = 6;
/** UDP. */
export const IP_PROTO_UDP = 17;
/** IPv6 routing header. */
export const IP_PROTO_ROUTING = 43;
/** IPv6 fragment header. */
export const IP_PROTO_FRAGMENT = 44;
/** ICMP for IPv6. */
export const IP_PROTO_ICMPV6 = 58;
/** IPv6 "no next header". */
export const IP_PROTO_NONE = 59;
/** IPv6 destination options header. */
export const IP_PROTO_DSTOPTS = 60;
/** TSMP: Tailscale's own messages, in the "any private encryption scheme" slot. */
export const IP_PROTO_TSMP = 99;
