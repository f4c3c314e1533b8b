/**
 * The lab's DERP map: one region (900, code "lab") with one node, the lab's derper on 127.0.0.1.
 * Built as tailcfg's JSON shape (what clients get in MapResponse.DERPMap), and written as the
 * YAML headscale loads from `derp.paths`: headscale decodes that file with yaml.v3 into
 * tailcfg.DERPMap, which has no yaml tags, so the keys are the Go field names in lower case.
 * @module
 */

/** Region id of the lab's DERP region (900-999 are reserved for users' own DERP servers). */
export const LAB_DERP_REGION_ID = 900;
/** Region code of the lab's DERP region, as `tailscale ping` prints it: "via DERP(lab)". */
export const LAB_DERP_REGION_CODE = "lab";

/** A DERP node in tailcfg's JSON form (only the fields the lab sets). */
export interface DerpNode {
  /** Node name, unique in the map. */
  Name: string;
  /** Region it belongs to. */
  RegionID: number;
  /** TLS server name and, without IPv4/IPv6, the address to dial. */
  HostName: string;
  /** IPv4 to dial. */
  IPv4: string;
  /** IPv6 to dial, "none" to disable. */
  IPv6: string;
  /** STUN UDP port. */
  STUNPort: number;
  /** DERP (HTTPS) port. */
  DERPPort: number;
  /** "sha256-raw:<hex>" pins the derper's self-signed certificate. */
  CertName?: string;
  /** Disables certificate verification altogether. */
  InsecureForTests?: boolean;
}

/** A DERP region in tailcfg's JSON form. */
export interface DerpRegion {
  /** Region id. */
  RegionID: number;
  /** Short code. */
  RegionCode: string;
  /** Long name. */
  RegionName: string;
  /** Its nodes. */
  Nodes: DerpNode[];
}

/** A DERP map in tailcfg's JSON form. */
export interface DerpMap {
  /** Regions by id (JSON object keys are strings). */
  Regions: Record<string, DerpRegion>;
}

/** How the lab's DERP node tells clients to trust the self-signed certificate. */
export type DerpTrust =
  | { kind: "pinned"; certSha256Hex: string }
  | { kind: "insecure" };

/**
 * The lab's one-region DERP map.
 * @param derpPort derper's TLS port on 127.0.0.1
 * @param stunPort derper's STUN port on 127.0.0.1
 * @param trust certificate pinning (`CertName: "sha256-raw:…"`) or `InsecureForTests`
 * @param host derper's address (default 127.0.0.1; the NAT lab's public address)
 * @returns the map as clients receive it
 */
export function labDerpMap(
  derpPort: number,
  stunPort: number,
  trust: DerpTrust,
  host = "127.0.0.1",
): DerpMap {
  const node: DerpNode = {
    Name: `${LAB_DERP_REGION_ID}a`,
    RegionID: LAB_DERP_REGION_ID,
    HostName: host,
    IPv4: host,
    IPv6: "none",
    STUNPort: stunPort,
    DERPPort: derpPort,
  };
  if (trust.kind === "pinned") node.CertName = `sha256-raw:${trust.certSha256Hex}`;
  else node.InsecureForTests = true;
  return {
    Regions: {
      [String(LAB_DERP_REGION_ID)]: {
        RegionID: LAB_DERP_REGION_ID,
        RegionCode: LAB_DERP_REGION_CODE,
        RegionName: "Lab DERP",
        Nodes: [node],
      },
    },
  };
}

/**
 * The map as headscale's `derp.paths` YAML: Go field names in lower case, strings quoted.
 * @param map a DERP map
 * @returns YAML text
 */
export function derpMapYaml(map: DerpMap): string {
  const lines = ["regions:"];
  for (const [id, r] of Object.entries(map.Regions)) {
    lines.push(`  ${id}:`);
    lines.push(`    regionid: ${r.RegionID}`);
    lines.push(`    regioncode: ${JSON.stringify(r.RegionCode)}`);
    lines.push(`    regionname: ${JSON.stringify(r.RegionName)}`);
    lines.push(`    nodes:`);
    for (const n of r.Nodes) {
      lines.push(`      - name: ${JSON.stringify(n.Name)}`);
      for (const [k, v] of Object.entries(n)) {
        if (k === "Name") continue;
        lines.push(`        ${k.toLowerCase()}: ${JSON.stringify(v)}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * SHA-256 (hex) of the DER bytes of the first certificate in a PEM file: the value derper's
 * `sha256-raw:` CertName pins.
 * @param pem PEM text
 */
export async function pemCertSha256Hex(pem: string): Promise<string> {
  const m = pem.match(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/);
  if (!m) throw new SyntaxError("Cannot parse PEM: no CERTIFICATE block");
  const der = Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
