// Cursor lists as async iterators: `for await (const item of client.feed.home())`.

/** One page of a list, as every list endpoint answers. */
export interface Page<T> {
  data: T[];
  meta: { next_cursor?: string | null; has_more?: boolean | null; request_id: string };
}

/**
 * A cursor list. Iterating it fetches pages as they are needed and yields their items;
 * `pages()` yields whole pages; breaking out of a loop fetches nothing more.
 */
export class Paged<T> implements AsyncIterable<T> {
  constructor(private readonly fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {}

  /** Every page, from the first until one has no `next_cursor`. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.fetchPage(cursor);
      yield page;
      cursor = page.meta.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** At most `limit` items, in order. */
  async take(limit: number): Promise<T[]> {
    const items: T[] = [];
    if (limit <= 0) return items;
    for await (const item of this) {
      items.push(item);
      if (items.length >= limit) break;
    }
    return items;
  }
}
