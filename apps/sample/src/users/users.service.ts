import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { CachePut, CacheService, Cacheable, InjectCache } from '@strata/cache';
import { AiResponseCache } from '@strata/cache/ai';
import { randomUUID } from 'node:crypto';
import { LLM_CLIENT, type LlmClient } from '../ai/llm/llm.client';
import { Simulation } from '../common/simulation';
import { SampleStore } from '../store/sample.store';

export interface User {
  id: string;
  name: string;
  email: string;
  plan: 'free' | 'pro' | 'enterprise';
  updatedAt: string;
}

export interface Session {
  id: string;
  userId: string;
  createdAt: string;
}

export type ConversationStatus = 'active' | 'completed';

export interface Conversation {
  id: string;
  userId: string;
  title: string;
  status: ConversationStatus;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  updatedAt: string;
}

/** Conversation TTL by status (seed 001): an active one changes all the time, a completed one does not. */
export const CONVERSATION_TTL: Record<ConversationStatus, '5m' | '24h'> = { active: '5m', completed: '24h' };
export const CONVERSATION_TTL_MS: Record<ConversationStatus, number> = { active: 5 * 60_000, completed: 24 * 3_600_000 };
const SESSION_TTL = '30m';
const userTag = (id: string) => `user:${id}`;
/** Cached GET responses about a user (profile, `/me`): evicted by `PUT /users/:id`. */
export const userResponseTag = (tenant: string, id: string) => `http:user:${tenant}:${id}`;

export interface Served<T> {
  value: T;
  hit: boolean;
}

/**
 * Users, sessions and conversations, per tenant. Users and conversations live in the store (PostgreSQL
 * or memory, with a realistic read latency); sessions and rate counters live in the cache only. The user
 * is cached by `@Cacheable` and refreshed by `@CachePut` on update; the rest goes through the injected
 * `CacheService` (TTL by conversation status, `increment`, tag invalidation of the user's lists).
 */
@Injectable()
export class UsersService {
  private readonly rateLimit: number;

  constructor(
    @InjectCache('users') private readonly cache: CacheService,
    @InjectCache('sessions') private readonly sessions: CacheService,
    private readonly ai: AiResponseCache,
    @Inject(LLM_CLIENT) private readonly llm: LlmClient,
    private readonly simulation: Simulation,
    private readonly store: SampleStore,
  ) {
    const limit = Number(process.env.SAMPLE_RATE_LIMIT ?? 10);
    this.rateLimit = Number.isInteger(limit) && limit > 0 ? limit : 10;
  }

  /** A user of a tenant: the tenant is part of the key, so tenants never share an entry. */
  @Cacheable({ name: 'users', key: '{0}:user:{1}', ttl: '10m' })
  user(tenant: string, id: string): Promise<User> {
    return this.loadUser(tenant, id);
  }

  /**
   * Writes the user to the store and the new value to the cache under `user()`'s key (`@CachePut`: the
   * next read is a hit with the new value, on every instance); lists that mention the user are dropped.
   */
  @CachePut({ name: 'users', key: '{0}:user:{1}', ttl: '10m' })
  async updateUser(tenant: string, id: string, patch: Record<string, unknown>): Promise<User> {
    const changes: Partial<User> = {};
    if (patch.name !== undefined) changes.name = text(patch.name, 'name');
    if (patch.email !== undefined) changes.email = text(patch.email, 'email');
    if (patch.plan !== undefined) {
      if (!['free', 'pro', 'enterprise'].includes(patch.plan as string)) throw new BadRequestException('plan must be free, pro or enterprise');
      changes.plan = patch.plan as User['plan'];
    }
    await this.loadUser(tenant, id);
    const next = await this.store.update<User>('users', tenant, id, (current) => ({ ...current, ...changes, updatedAt: new Date().toISOString() }));
    await this.cache.forTenant(tenant).invalidateTags([userTag(id)]);
    return next as User;
  }

  async createSession(tenant: string, userId: string): Promise<Session> {
    await this.loadUser(tenant, userId);
    const session: Session = { id: randomUUID(), userId, createdAt: new Date().toISOString() };
    await this.sessions.forTenant(tenant).set(`session:${session.id}`, session, { ttl: SESSION_TTL, tags: [userTag(userId)] });
    return session;
  }

  async session(tenant: string, id: string): Promise<Session> {
    const session = await this.sessions.forTenant(tenant).get<Session>(`session:${id}`);
    if (session === undefined) throw new NotFoundException('no such session (expired or ended)');
    return session;
  }

  async endSession(tenant: string, id: string): Promise<void> {
    await this.sessions.forTenant(tenant).delete(`session:${id}`);
  }

  /** Fixed-window rate limit per user: `increment` on a counter that expires with its minute. */
  async act(tenant: string, userId: string): Promise<{ count: number; limit: number; remaining: number }> {
    const window = Math.floor(Date.now() / 60_000);
    const count = await this.cache.forTenant(tenant).increment(`rate:${userId}:${window}`, 1, { ttl: '1m' });
    if (count > this.rateLimit) {
      throw new HttpException({ message: 'rate limit exceeded', limit: this.rateLimit, count }, HttpStatus.TOO_MANY_REQUESTS);
    }
    return { count, limit: this.rateLimit, remaining: this.rateLimit - count };
  }

  async startConversation(tenant: string, userId: string, title: unknown): Promise<Conversation> {
    await this.loadUser(tenant, userId);
    const conversation: Conversation = {
      id: randomUUID(),
      userId,
      title: title === undefined ? 'New conversation' : text(title, 'title'),
      status: 'active',
      messages: [],
      updatedAt: new Date().toISOString(),
    };
    await this.save(tenant, conversation);
    return conversation;
  }

  async conversation(tenant: string, id: string): Promise<Served<Conversation>> {
    return this.served(this.cache.forTenant(tenant), `conversation:${id}`, async () => this.loadConversation(tenant, id), undefined, (c) => ({
      ttl: CONVERSATION_TTL[c.status],
      tags: [userTag(c.userId), `conversation:${id}`],
    }));
  }

  async conversationsOf(tenant: string, userId: string): Promise<Served<Array<Pick<Conversation, 'id' | 'title' | 'status'>>>> {
    return this.served(
      this.cache.forTenant(tenant),
      `conversations-of:${userId}`,
      async () => {
        await this.simulation.work(0.2, `list:${tenant}:${userId}`);
        const conversations = await this.store.list<Conversation>('conversations', tenant, { field: 'userId', equals: userId });
        return conversations.map(({ id, title, status }) => ({ id, title, status }));
      },
      { ttl: '5m', tags: [userTag(userId)] },
    );
  }

  /** Adds a user message and the assistant's reply (through the AI cache: the same conversation so far gets the same reply). */
  async say(tenant: string, id: string, content: unknown): Promise<{ reply: string; cache: { status: string; similarity?: number } }> {
    const conversation = await this.loadConversation(tenant, id);
    if (conversation.status === 'completed') throw new BadRequestException('this conversation is completed');
    const said = { role: 'user' as const, content: text(content, 'content') };
    const messages = [...conversation.messages, said].slice(-10);
    const result = await this.ai
      .forTenant(tenant)
      .getOrCall({ provider: this.llm.provider, model: this.llm.defaultModel, operation: 'chat', messages }, () =>
        this.llm.complete({ model: this.llm.defaultModel, operation: 'chat', messages }),
      );
    // Appended to the row as it is now (another instance may have added messages meanwhile), not to our copy.
    await this.change(tenant, id, (current) => ({
      ...current,
      messages: [...current.messages, said, { role: 'assistant', content: result.response.output }],
      updatedAt: new Date().toISOString(),
    }));
    return { reply: result.response.output, cache: { status: result.status, similarity: result.similarity } };
  }

  async setStatus(tenant: string, id: string, status: unknown): Promise<{ conversation: Conversation; ttlMs: number }> {
    if (status !== 'active' && status !== 'completed') throw new BadRequestException("status must be 'active' or 'completed'");
    const next: ConversationStatus = status;
    const conversation = await this.change(tenant, id, (current) => ({ ...current, status: next, updatedAt: new Date().toISOString() }));
    return { conversation, ttlMs: CONVERSATION_TTL_MS[next] };
  }

  /** Read-modify-write of a conversation in the store (atomic across instances), then the cache as for a save. */
  private async change(tenant: string, id: string, update: (current: Conversation) => Conversation): Promise<Conversation> {
    const conversation = await this.store.update<Conversation>('conversations', tenant, id, update);
    if (!conversation) throw new NotFoundException(`no conversation ${id}`);
    await this.cached(tenant, conversation);
    return conversation;
  }

  private async save(tenant: string, conversation: Conversation): Promise<void> {
    await this.store.put('conversations', tenant, conversation.id, conversation);
    await this.cached(tenant, conversation);
  }

  private async cached(tenant: string, conversation: Conversation): Promise<void> {
    const cache = this.cache.forTenant(tenant);
    // The conversation itself with its status's TTL; the user's list is stale now.
    await cache.set(`conversation:${conversation.id}`, conversation, { ttl: CONVERSATION_TTL[conversation.status], tags: [userTag(conversation.userId), `conversation:${conversation.id}`] });
    await cache.delete(`conversations-of:${conversation.userId}`);
  }

  private async loadConversation(tenant: string, id: string): Promise<Conversation> {
    await this.simulation.work(0.2, `conversation:${tenant}:${id}`);
    const conversation = await this.store.get<Conversation>('conversations', tenant, id);
    if (!conversation) throw new NotFoundException(`no conversation ${id}`);
    return conversation;
  }

  /** Users exist on first read (a demo directory): deterministic name and e-mail. */
  private async loadUser(tenant: string, id: string): Promise<User> {
    if (!/^[\w.-]{1,64}$/.test(id)) throw new BadRequestException('a user id is 1-64 letters, digits, dots, dashes or underscores');
    await this.simulation.work(0.2, `user:${tenant}:${id}`);
    const found = await this.store.get<User>('users', tenant, id);
    if (found) return found;
    return this.store.putIfAbsent<User>('users', tenant, id, { id, name: `User ${id}`, email: `${id}@${tenant}.example`, plan: 'free', updatedAt: new Date(0).toISOString() });
  }

  private async served<T>(
    cache: CacheService,
    key: string,
    load: () => Promise<T>,
    options?: { ttl: '5m' | '10m' | '24h'; tags: string[] },
    optionsOf?: (value: T) => { ttl: '5m' | '24h'; tags: string[] },
  ): Promise<Served<T>> {
    const cached = await cache.get<T>(key);
    if (cached !== undefined) return { value: cached, hit: true };
    const value = await load();
    await cache.set(key, value, optionsOf ? optionsOf(value) : options);
    return { value, hit: false };
  }
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 10_000) throw new BadRequestException(`${field} must be a non-empty string`);
  return value;
}
