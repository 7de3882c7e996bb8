/**
 * A 2D image, row-major: pixel (column x, row y) is `data[x + width · y]`,
 * row 0 at the top. As a tensor its shape is [height, width].
 */
export interface Image2D {
  width: number;
  height: number;
  data: Float32Array;
}
