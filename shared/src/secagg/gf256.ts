/**
 * Arithmetic in GF(2^8) with the AES reduction polynomial x^8+x^4+x^3+x+1
 * (0x11b), written without tables or secret-dependent branches so that the
 * time taken does not depend on the (secret) operands: Shamir shares of mask
 * seeds and private keys pass through here (./shamir.ts).
 * Addition and subtraction are both XOR.
 */

/** a·b: shift-and-add with masks instead of branches. */
export function gfMul(a: number, b: number): number {
  let product = 0;
  let x = a & 0xff;
  let y = b & 0xff;
  for (let bit = 0; bit < 8; bit++) {
    product ^= -(y & 1) & x;
    const carry = -((x >> 7) & 1);
    x = ((x << 1) ^ (carry & 0x1b)) & 0xff;
    y >>= 1;
  }
  return product & 0xff;
}

/** a^-1 = a^254 (the multiplicative group has order 255); maps 0 to 0. */
export function gfInv(a: number): number {
  // a^254 = a^2 · a^4 · a^8 · … · a^128: square seven times, multiply as we go.
  let square = gfMul(a, a);
  let result = square;
  for (let k = 0; k < 6; k++) {
    square = gfMul(square, square);
    result = gfMul(result, square);
  }
  return result;
}
