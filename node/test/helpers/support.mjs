// Helpers shared by the test files (not a test file itself).
import assert from 'node:assert/strict';

/** Awaits `promise`, asserts that it rejects with an instance of `Class`, runs `check` on it. */
export async function rejects(promise, Class, check = () => {}) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Class, `expected ${Class.name}, got ${err?.stack ?? err}`);
  check(err);
  return err;
}
