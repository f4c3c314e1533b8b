import { assert, assertEquals } from "../engine/base/testing/assert.ts";
import { RESPONSE_BATCH_CHARS, textPiecesResponse } from "./server.ts";

Deno.test("textPiecesResponse(): a short body is one string", async () => {
  const res = textPiecesResponse(["{", '"a": "😀"', "}\n"].values());
  assertEquals(res.headers.get("content-type"), "application/json");
  assertEquals(await res.text(), '{"a": "😀"}\n');
});

Deno.test("textPiecesResponse(): a long body is made as it is read, whole and in order", async () => {
  let made = 0;
  let finished = false;
  const piece = (i: number) => `"${i} ünï 😀",`.repeat(40) + "\n";
  const count = Math.ceil((RESPONSE_BATCH_CHARS * 5) / piece(0).length);
  function* pieces() {
    try {
      for (let i = 0; i < count; i++) {
        made++;
        yield piece(i);
      }
    } finally {
      finished = true;
    }
  }
  const res = textPiecesResponse(pieces());
  // Only the first write's worth is made before the body is read.
  assert(made < count / 2, `${made} of ${count} pieces made before reading`);
  const text = await res.text();
  assertEquals(made, count);
  assert(finished);
  assertEquals(text, Array.from({ length: count }, (_, i) => piece(i)).join(""));
});

Deno.test("textPiecesResponse(): a reader that stops early ends the pieces", async () => {
  let finished = false;
  function* pieces() {
    try {
      for (;;) yield "x".repeat(1000);
    } finally {
      finished = true;
    }
  }
  const res = textPiecesResponse(pieces());
  const reader = res.body!.getReader();
  assert(!(await reader.read()).done);
  await reader.cancel();
  assert(finished, "the generator's finally ran");
});
