/**
 * How invalidation messages travel between instances: publish, subscribe (with down/up), and a short
 * log so a gap in the subscription can be read back. The exactly-once logic (cursor, epochs, what a gap
 * lost) is the engine's (`InvalidationBus`); a transport moves text and reports its state. Adapters:
 * Redis (pub/sub + a capped stream with an epoch), memory (one process, or several buses sharing one
 * in-process hub in tests).
 */
export interface BusTransport {
  /**
   * Appends `message` (a JSON object's text) to the log and publishes it, stamped on the way with the
   * log's epoch and its id there (`{"e":epoch,"i":id,...}`), in one step where the transport can.
   * Ordered after the writes this process sent before it. Rejects when it could not be published.
   */
  publish(message: string): Promise<void>;
  /**
   * Subscribes and stays subscribed (reconnecting as needed) until `close`. Once each subscription is
   * confirmed (everything published after it arrives as `message`), `catchUp` reads back the gap; when
   * it rejects, the transport drops the subscription and subscribes again; when it resolves and the
   * subscription is still the current one, `up`. `down` when it is lost (closed socket, unanswered
   * ping): messages may be missed until the next `up`.
   */
  subscribe(handlers: BusHandlers): void;
  /**
   * Reads the log after entry `after` (`'0-0'`: from the start), at most `count` entries, with what
   * the bus needs to tell whether a gap was closed exactly (see `BusLogPage`). Creates the log's epoch
   * when there is none.
   */
  readLog(after: string, count: number): Promise<BusLogPage>;
  /** True while the publishing side can be used now (a publish would not fail at once). */
  readonly publishable: boolean;
  /**
   * Calls `listener` when the publishing side becomes usable again (to resend what waits, and
   * resubscribe at once rather than after a backoff); returns the unsubscribe function.
   */
  onPublishable(listener: () => void): () => void;
  /** A subscription waiting out a reconnect backoff starts over now. */
  resubscribeNow(): void;
  /** Unsubscribes and releases what the transport opened; no handler is called after it. */
  close(): Promise<void>;
}

export const BusTransport = Symbol('BusTransport');

export interface BusHandlers {
  message(text: string): void;
  /** `silent`: a PING went unanswered (the socket may be open, the server frozen), rather than a closed socket. */
  down(reason: string, silent: boolean): void;
  catchUp(): Promise<void>;
  up(): void;
}

/** One page of the bus log. */
export interface BusLogPage {
  /** The log's epoch: a new one whenever the log starts over (created, flushed, lost with a restart). */
  readonly epoch: string;
  /** The epoch was created by this read: the log started just now. */
  readonly created: boolean;
  /** How long the server has been running (s); a huge number when it cannot tell. */
  readonly uptime: number;
  /** The last id ever added to the log. */
  readonly lastId: string;
  /** Nothing after `after` was trimmed away (for `'0-0'`: nothing was ever trimmed). */
  readonly intact: boolean;
  /** Entries after `after`: id and message text. */
  readonly entries: ReadonlyArray<readonly [id: string, text: string]>;
}
