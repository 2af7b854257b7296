/** `"172.16.253.11"` -> `"172.16.253.11/32"`; a CIDR is kept as written. */
export function normalizeCidr(address: string): string {
  return address.includes('/') ? address : `${address}/32`;
}
