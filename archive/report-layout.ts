/**
 * Where the PDF report's table columns and blocks go. Pure arithmetic on measured sizes, so
 * the decisions (how wide each column, what moves to the next page) are tested without a PDF.
 */

/**
 * Column widths that fill `available` exactly. Room to spare goes to every column alike (a
 * table the width of the page reads better than one huddled left); too little is taken from
 * the columns in proportion to their width, never below `minimum` (a header then wraps).
 */
export function fitColumnWidths(natural: readonly number[], available: number, minimum = 0): number[] {
  if (natural.length === 0) return [];
  const sum = natural.reduce((a, b) => a + b, 0);
  if (sum <= available) return natural.map((w) => w + (available - sum) / natural.length);
  const floor = Math.min(minimum, available / natural.length);
  // Shrink only what is above the floor, by the one factor that makes the total fit.
  const above = natural.reduce((a, w) => a + Math.max(0, w - floor), 0);
  const spare = available - floor * natural.length;
  const factor = above === 0 ? 0 : spare / above;
  return natural.map((w) => floor + Math.max(0, w - floor) * factor);
}

/**
 * Blocks of the given heights laid out top to bottom over pages: the first page has
 * `firstSpace` left, every further page `pageSpace`, blocks `gap` apart. A block that does not
 * fit the room left goes to the next page, unless it is alone on a fresh page: an oversized
 * block still lands somewhere. Returns the indices of the blocks on each page (the first may
 * be empty when even the first block needs a page of its own).
 */
export function paginate(heights: readonly number[], firstSpace: number, pageSpace: number, gap = 0): number[][] {
  const pages: number[][] = [[]];
  let room = firstSpace;
  heights.forEach((height, i) => {
    let page = pages.at(-1)!;
    const fresh = page.length === 0 && room >= pageSpace;
    if ((page.length > 0 ? gap : 0) + height > room && !fresh) {
      page = [];
      pages.push(page);
      room = pageSpace;
    }
    room -= (page.length > 0 ? gap : 0) + height;
    page.push(i);
  });
  return pages;
}

/**
 * The pieces of a header that a line break may not split: words of Latin letters and digits
 * (with their brackets and signs), and each CJK character alone, since Chinese breaks between
 * any two. The widest piece is as narrow as its column may get.
 */
export function unbreakablePieces(text: string): string[] {
  return text.match(/[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+/gu) ?? [];
}
