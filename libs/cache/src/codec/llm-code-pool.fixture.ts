/**
 * Code blocks, headings and list terms for the LLM-like text fixture. `{name}`, `{n}` and `{table}`
 * are filled per use so long documents do not repeat code byte for byte.
 */
export const CODE_BLOCKS: readonly { lang: string; body: string }[] = [
  {
    lang: 'ts',
    body: `async function {name}(id: string): Promise<User | undefined> {
  const cached = await cache.get<User>(\`user:\${id}\`);
  if (cached) return cached;
  const user = await db.users.findOne({ where: { id } });
  if (user) await cache.set(\`user:\${id}\`, user, { ttl: {n}_000 });
  return user ?? undefined;
}`,
  },
  {
    lang: 'python',
    body: `import pandas as pd

df = pd.read_csv("{table}.csv", parse_dates=["created_at"])
df = df.dropna(subset=["amount"])
summary = (
    df.groupby(df["created_at"].dt.to_period("M"))["amount"]
      .agg(["count", "sum", "mean"])
      .rename(columns={"sum": "total"})
)
print(summary.tail({n}))`,
  },
  {
    lang: 'sql',
    body: `SELECT c.id, c.name, COUNT(o.id) AS order_count, SUM(o.total) AS revenue
FROM customers c
LEFT JOIN {table} o ON o.customer_id = c.id AND o.created_at >= NOW() - INTERVAL '{n} days'
GROUP BY c.id, c.name
HAVING COUNT(o.id) > 0
ORDER BY revenue DESC
LIMIT 20;`,
  },
  {
    lang: 'bash',
    body: `# check which process holds the port, then restart the service cleanly
sudo lsof -i :{n}
systemctl status {name}.service --no-pager
sudo systemctl restart {name}.service
journalctl -u {name}.service --since "10 minutes ago" | tail -n 50`,
  },
  {
    lang: 'yaml',
    body: `services:
  {name}:
    image: node:20-alpine
    command: npm run start:prod
    environment:
      REDIS_URL: redis://cache:6379
      LOG_LEVEL: info
    ports:
      - "{n}:3000"
    depends_on:
      - cache
  cache:
    image: redis:7
    command: ["redis-server", "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"]`,
  },
  {
    lang: 'js',
    body: `function debounce(fn, wait = {n}) {
  let timer;
  return function {name}(...args) {
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), wait);
  };
}

window.addEventListener('resize', debounce(() => layout.recompute()));`,
  },
  {
    lang: 'go',
    body: `func {name}(ctx context.Context, urls []string) ([]Result, error) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit({n})
	results := make([]Result, len(urls))
	for i, u := range urls {
		g.Go(func() error {
			r, err := fetch(ctx, u)
			results[i] = r
			return err
		})
	}
	return results, g.Wait()
}`,
  },
  {
    lang: 'rust',
    body: `fn {name}(input: &str) -> Result<Vec<u32>, ParseIntError> {
    input
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>())
        .collect()
}`,
  },
  {
    lang: 'python',
    body: `from sklearn.model_selection import train_test_split, cross_val_score
from sklearn.ensemble import RandomForestClassifier

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state={n})
model = RandomForestClassifier(n_estimators=200, max_depth=8, n_jobs=-1)
scores = cross_val_score(model, X_train, y_train, cv=5, scoring="f1")
print(f"{name}: {scores.mean():.3f} ± {scores.std():.3f}")`,
  },
  {
    lang: 'tsx',
    body: `export function {name}({ items }: { items: Item[] }) {
  const [query, setQuery] = useState('');
  const visible = useMemo(
    () => items.filter((item) => item.title.toLowerCase().includes(query.toLowerCase())),
    [items, query],
  );
  return (
    <section>
      <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search" />
      <ul>{visible.slice(0, {n}).map((item) => <li key={item.id}>{item.title}</li>)}</ul>
    </section>
  );
}`,
  },
  {
    lang: 'json',
    body: `{
  "name": "{name}",
  "version": "1.{n}.0",
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "test": "jest --coverage",
    "lint": "eslint . --ext .ts"
  },
  "engines": { "node": ">=20" }
}`,
  },
  {
    lang: 'dockerfile',
    body: `FROM node:20-alpine AS build
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-alpine
WORKDIR /app
ENV NODE_ENV=production PORT={n}
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules ./node_modules
CMD ["node", "dist/{name}.js"]`,
  },
];

export const HEADINGS: readonly string[] = [
  'Why this happens', 'The quick fix', 'A more robust approach', 'Putting it together', 'Common pitfalls',
  'How to verify it works', 'Trade-offs to consider', 'When not to do this', 'Example', 'Recommended setup',
  'Performance considerations', 'Security notes', 'Alternatives', 'Summary', 'What I would do',
  'Background', 'Key concepts', 'Debugging checklist', 'Further reading', 'A worked example',
  'Choosing the right option', 'Testing your changes', 'Frequently asked follow-ups', 'Next steps',
];

export const TERMS: readonly string[] = [
  'Latency', 'Throughput', 'Consistency', 'Cost', 'Complexity', 'Readability', 'Safety', 'Portability',
  'Observability', 'Maintainability', 'Memory usage', 'Startup time', 'Correctness', 'Scalability',
  'Developer experience', 'Flavor', 'Texture', 'Budget', 'Risk', 'Timing', 'Evidence', 'Context',
];

export const NAMES: readonly string[] = [
  'loadUser', 'fetchAll', 'parseIds', 'SearchList', 'api-gateway', 'worker', 'billing', 'reportJob',
  'syncOrders', 'scoreModel', 'handler', 'checkout', 'ingest', 'notifier', 'Dashboard', 'resolveConfig',
];

export const TABLES: readonly string[] = ['orders', 'payments', 'sessions', 'events', 'invoices', 'sales'];
