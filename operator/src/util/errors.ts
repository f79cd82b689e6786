// The message of anything thrown: client-node rejects with plain objects that
// carry a message as well as with Errors, and logs want the text either way.
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "message" in err)
    return String((err as { message: unknown }).message);
  return String(err);
}
