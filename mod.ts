/**
 * tailnet as a library: the pieces of the engine that are built so far. The node API
 * (join a tailnet, dial, listen), like Go's tsnet, is added here as it is built; nothing is
 * exported before it works.
 *
 * @example Parse and print a node key
 * ```ts
 * import { generatePrivate, publicOf, publicToText } from "./mod.ts";
 * const text = publicToText("node", publicOf(generatePrivate("node")));
 * if (!text.startsWith("nodekey:")) throw new Error(text);
 * ```
 * @module
 */
export * from "./src/engine/key/keys.ts";
export { Logger, type LoggerOptions, type LogLevel } from "./src/engine/base/logger.ts";
export { ParseError, TailnetError } from "./src/engine/base/errors.ts";
export { TAILNET_VERSION } from "./src/version.ts";
