/** A random string id: a UUID where the platform has one, else 128 random bits from Math.random. */
export function randomStringId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto
  if (crypto?.randomUUID) {
    return crypto.randomUUID()
  }
  let id = ''
  for (let i = 0; i < 4; i += 1) {
    id += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')
  }
  return id
}
