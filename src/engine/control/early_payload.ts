/**
 * The ts2021 early payload (Go: `tailcfg.EarlyNoise`, `control/controlhttp`): plaintext the
 * server may send first inside the Noise channel, before HTTP/2 starts.
 * ```
 * magic ff ff ff 54 53 ("\xff\xff\xffTS") | length u32be | JSON {"nodeKeyChallenge":"chalpub:…"}
 * ```
 * If the first 9 plaintext bytes do not start with the magic they are the start of an HTTP/2
 * frame and pass through untouched. headscale writes the three parts as three records, so the
 * parser works across any chunking. No I/O.
 * @module
 */
import { ParseError } from "../base/errors.ts";
import { concat } from "../base/bytes.ts";

/** The early-payload magic. */
export const EARLY_PAYLOAD_MAGIC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0x54, 0x53]);
/** Magic plus the length field. */
export const EARLY_PAYLOAD_HEADER_LEN = 9;
/** Largest early payload JSON we accept (Go allows 10 MiB; the real one is ~80 bytes). */
export const EARLY_PAYLOAD_MAX_LEN = 64 * 1024;

/** What the early payload said (tailcfg.EarlyNoise). */
export interface EarlyNoise {
  /** `chalpub:…`, or "" when absent. */
  nodeKeyChallenge: string;
  /** The JSON as received. */
  raw: Record<string, unknown>;
}

/**
 * Strips the early payload from the front of the decrypted stream. Feed every plaintext chunk
 * to {@linkcode EarlyPayloadStripper.push}; it returns the bytes meant for HTTP/2.
 */
export class EarlyPayloadStripper {
  #state: "header" | "body" | "done" = "header";
  #buf: Uint8Array = new Uint8Array(0);
  #want = 0;
  #early: EarlyNoise | null = null;

  /** The parsed early payload, once seen; null if none was sent (or not yet complete). */
  get earlyNoise(): EarlyNoise | null {
    return this.#early;
  }

  /** Whether the decision is made and everything now passes through. */
  get done(): boolean {
    return this.#state === "done";
  }

  /**
   * Consumes a chunk of plaintext. Throws {@linkcode ParseError} (format `"early-payload"`) for
   * an over-long or non-JSON payload.
   * @param chunk decrypted bytes, in order
   * @returns bytes for the HTTP/2 layer (possibly empty)
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#state === "done") return chunk;
    this.#buf = this.#buf.length === 0 ? chunk : concat([this.#buf, chunk]);
    if (this.#state === "header") {
      if (this.#buf.length < EARLY_PAYLOAD_HEADER_LEN) {
        // Decide early when the bytes so far already differ from the magic.
        if (!startsWithMagicPrefix(this.#buf)) return this.#flush();
        return new Uint8Array(0);
      }
      if (!startsWithMagicPrefix(this.#buf)) return this.#flush();
      const v = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
      this.#want = v.getUint32(EARLY_PAYLOAD_MAGIC.length);
      if (this.#want > EARLY_PAYLOAD_MAX_LEN) {
        throw new ParseError(
          "early-payload",
          `Cannot parse early payload: length ${this.#want} exceeds ${EARLY_PAYLOAD_MAX_LEN}`,
          EARLY_PAYLOAD_MAGIC.length,
        );
      }
      this.#buf = this.#buf.subarray(EARLY_PAYLOAD_HEADER_LEN);
      this.#state = "body";
    }
    if (this.#buf.length < this.#want) return new Uint8Array(0);
    const json = this.#buf.subarray(0, this.#want);
    const rest = this.#buf.subarray(this.#want);
    this.#early = parseEarlyNoise(json);
    this.#state = "done";
    this.#buf = new Uint8Array(0);
    return rest;
  }

  #flush(): Uint8Array {
    const out = this.#buf;
    this.#buf = new Uint8Array(0);
    this.#state = "done";
    return out;
  }
}

/**
 * Parses the early payload JSON.
 * @param json the bytes after the 9-byte header
 * @returns the parsed payload
 */
export function parseEarlyNoise(json: Uint8Array): EarlyNoise {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(json));
  } catch {
    throw new ParseError("early-payload", "Cannot parse early payload: not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ParseError("early-payload", "Cannot parse early payload: not a JSON object");
  }
  const raw = value as Record<string, unknown>;
  const ch = raw.nodeKeyChallenge;
  return { nodeKeyChallenge: typeof ch === "string" ? ch : "", raw };
}

function startsWithMagicPrefix(b: Uint8Array): boolean {
  const n = Math.min(b.length, EARLY_PAYLOAD_MAGIC.length);
  for (let i = 0; i < n; i++) if (b[i] !== EARLY_PAYLOAD_MAGIC[i]) return false;
  return true;
}
