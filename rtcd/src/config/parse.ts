// Parsers for environment variable values that accept exactly what rtcd's
// envconfig (Go's strconv) accepts, so a value that works with rtcd works
// here and one it rejects is rejected here too.

const BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

// strconv.ParseBool.
export function parseGoBool(s: string): boolean | undefined {
  if (BOOL_TRUE.has(s)) return true;
  if (BOOL_FALSE.has(s)) return false;
  return undefined;
}

// strconv.ParseInt(s, 0, bits) / ParseUint: optional sign (signed only), base
// prefixes 0x 0o 0b or a leading 0 for octal, and underscores between digits
// (only allowed with base 0, which is what envconfig uses). Returns a bigint
// so range checks are exact.
export function parseGoInt(s: string, signed: boolean): bigint | undefined {
  let rest = s;
  let negative = false;
  if (rest.startsWith("+") || rest.startsWith("-")) {
    if (!signed) return undefined;
    negative = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "") return undefined;
  let base = 10;
  let prefixed = false;
  const lower = rest.toLowerCase();
  if (lower.startsWith("0x")) [base, rest, prefixed] = [16, rest.slice(2), true];
  else if (lower.startsWith("0o")) [base, rest, prefixed] = [8, rest.slice(2), true];
  else if (lower.startsWith("0b")) [base, rest, prefixed] = [2, rest.slice(2), true];
  else if (rest.length > 1 && rest.startsWith("0")) [base, rest, prefixed] = [8, rest.slice(1), true];
  if (!underscoresOK(prefixed, rest)) return undefined;
  const digits = rest.replaceAll("_", "");
  if (digits === "") return undefined;
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base]!;
  if (!valid.test(digits)) return undefined;
  let n = 0n;
  for (const d of digits) n = n * BigInt(base) + BigInt(parseInt(d, 16));
  return negative ? -n : n;
}

// Go's underscoreOK: an underscore may only separate digits, or follow the
// base prefix (which counts as a digit); never lead, trail or double up.
function underscoresOK(prefixed: boolean, digits: string): boolean {
  return (prefixed ? /^_?[^_]+(_[^_]+)*$/ : /^[^_]+(_[^_]+)*$/).test(digits);
}

// strconv.Atoi as rtcd uses it for ice_host_port_override: base 10 only.
export function parseGoAtoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}
