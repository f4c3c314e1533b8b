import { assertEquals, assertRejects } from "../../src/engine/base/testing/assert.ts";
import { derpMapYaml, LAB_DERP_REGION_ID, labDerpMap, pemCertSha256Hex } from "./derp_map.ts";

Deno.test("labDerpMap() pins the certificate or marks the node InsecureForTests", () => {
  const pinned = labDerpMap(443, 3478, { kind: "pinned", certSha256Hex: "ab".repeat(32) });
  const node = pinned.Regions[String(LAB_DERP_REGION_ID)].Nodes[0];
  assertEquals(node.CertName, `sha256-raw:${"ab".repeat(32)}`);
  assertEquals(node.InsecureForTests, undefined);
  assertEquals([node.HostName, node.IPv4, node.IPv6], ["127.0.0.1", "127.0.0.1", "none"]);
  const insecure = labDerpMap(443, 3478, { kind: "insecure" });
  assertEquals(insecure.Regions["900"].Nodes[0].InsecureForTests, true);
  assertEquals(insecure.Regions["900"].Nodes[0].CertName, undefined);
});

Deno.test("derpMapYaml() writes tailcfg field names in lower case, as headscale's yaml.v3 reads them", () => {
  const yaml = derpMapYaml(labDerpMap(1234, 5678, { kind: "insecure" }));
  assertEquals(
    yaml,
    [
      "regions:",
      "  900:",
      "    regionid: 900",
      '    regioncode: "lab"',
      '    regionname: "Lab DERP"',
      "    nodes:",
      '      - name: "900a"',
      "        regionid: 900",
      '        hostname: "127.0.0.1"',
      '        ipv4: "127.0.0.1"',
      '        ipv6: "none"',
      "        stunport: 5678",
      "        derpport: 1234",
      "        insecurefortests: true",
      "",
    ].join("\n"),
  );
});

Deno.test("pemCertSha256Hex() hashes the DER bytes inside the PEM", async () => {
  // Not a real certificate: the function only base64-decodes the block and hashes it.
  const pem = "-----BEGIN CERTIFICATE-----\nYWJj\n-----END CERTIFICATE-----\n";
  assertEquals(
    await pemCertSha256Hex(pem),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", // SHA-256("abc")
  );
  await assertRejects(() => pemCertSha256Hex("nothing"), SyntaxError);
});
