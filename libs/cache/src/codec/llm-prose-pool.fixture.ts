/**
 * Hand-written sentences in the voice of a chat model's answers, across unrelated topics, so a
 * fixture built from them compresses like real output rather than like a repeated vocabulary.
 * Kept apart from the generator only because it is data.
 */
export const OPENERS: readonly string[] = [
  "Great question! The short answer is that it depends on how often the data changes, but there's a reliable way to reason about it.",
  "Sure, here's a step-by-step walkthrough, followed by a few pitfalls that tend to catch people the first time.",
  "There are a few moving parts here, so let me break this down before getting to a concrete recommendation.",
  'Short answer: yes, but with one important caveat that is easy to miss.',
  "This is a common source of confusion, and the documentation doesn't make it particularly obvious.",
  "Happy to help with that. Below is an overview, a worked example, and a checklist you can follow.",
  "It sounds like you're running into a classic trade-off between simplicity and performance.",
  "Let's start with what's actually happening under the hood, because the fix follows naturally from that.",
  'I would approach this in three stages: understand the constraint, pick a strategy, then verify it with a small experiment.',
  'Absolutely. Before diving in, it helps to clarify what "fast enough" means for your use case.',
  "Good news: this is a well-understood problem, and there are mature tools for it.",
  "Thanks for the detailed context; it makes it much easier to give a specific answer.",
];

export const CLOSERS: readonly string[] = [
  "If you share the exact error message and your configuration, I can help narrow it down further.",
  'Let me know if you want me to adapt the example to your framework or add tests for it.',
  'Hope this helps! Feel free to ask if any step is unclear.',
  'In short: measure first, change one thing at a time, and keep the simplest solution that meets your requirements.',
  'Would you like a version of this that handles errors and retries as well?',
  'If this is going to production, I would also add monitoring so you notice regressions early.',
  "That should be enough to get you started; the official documentation covers the remaining edge cases in detail.",
  'Feel free to paste the output of the command above and I will take a look.',
];

/** Sentences by subject: a text draws from a few subjects at a time, as one answer would. */
export const TOPICS: readonly (readonly string[])[] = [
  // caching
  [
    'A cache only helps when the same data is read far more often than it is written.',
    'The hardest part of caching is not storing values but deciding when they are no longer true.',
    'Time-based expiry is simple to reason about, although it means readers may see slightly stale data for a while.',
    'Event-based invalidation is more precise, but every code path that writes must remember to publish the event.',
    'When many requests miss at the same moment, they can all hit the database together; this is usually called a cache stampede.',
    'A common mitigation is to let a single request recompute the value while the others wait for its result.',
    'Serving the stale value while refreshing it in the background keeps latency flat during the refresh.',
    'Keep keys short, predictable, and namespaced, so you can find and delete them later without scanning everything.',
    'Redis stores everything in memory, so the size of each value translates directly into infrastructure cost.',
    'Compression trades a little CPU time for a lot of memory and network bandwidth, which is usually a good deal for text.',
  ],
  // databases
  [
    'Before optimizing, profile the endpoint and confirm that the database call is really the bottleneck.',
    "An index speeds up reads but slows down writes slightly, because every insert has to update it as well.",
    'Composite indexes are used from left to right, so the order of the columns matters more than most people expect.',
    'If a query filters on a function of a column, the planner usually cannot use a plain index on that column.',
    'Run EXPLAIN ANALYZE on the slow query first; it shows both the plan and the actual time spent in each step.',
    'Connection pools exist because opening a database connection is surprisingly expensive compared to running a simple query.',
    'Transactions guarantee that a group of changes is applied completely or not at all.',
    'Isolation levels control which anomalies you are willing to tolerate in exchange for concurrency.',
    'Optimistic locking works well when conflicts are rare, since it only pays a cost when two writers actually collide.',
    'Migrations should be backward compatible, so the old and new versions of the application can run side by side during a deploy.',
  ],
  // backend
  [
    'In JavaScript, a promise represents a value that will be available later, or an error explaining why it never will be.',
    'Forgetting to await a promise is one of the most common sources of intermittent bugs in Node.js services.',
    'The event loop can only do one thing at a time, so a long synchronous computation blocks every other request.',
    "TypeScript's type system disappears at runtime, which means data from the network still has to be validated.",
    'Prefer unknown over any for values you have not checked yet; the compiler will then force you to narrow them.',
    'Dependency injection makes it easy to swap a real implementation for a fake one in tests.',
    'A module should expose a small surface and hide the details that are likely to change.',
    'Logging every request body is tempting during debugging, but it can leak personal data into your log storage.',
    'Structured logs in JSON are easier to search and aggregate than free-form text messages.',
  ],
  // operations
  [
    'Retries should use exponential backoff with jitter, otherwise clients retry in lockstep and make the outage worse.',
    'A timeout without a retry budget can still overload a struggling dependency.',
    'Circuit breakers stop calling a failing service for a while, giving it room to recover.',
    'Idempotency keys let a client retry a payment request safely without charging the customer twice.',
    'Health checks should verify that the process can actually serve traffic, not merely that it is running.',
    'Containers make builds reproducible, but they do not by themselves make an application secure.',
    'Pin your base image to a specific digest so that rebuilding the same commit produces the same image.',
    'Environment variables are convenient for configuration, yet secrets deserve a dedicated secret manager.',
    "Kubernetes restarts a pod whose liveness probe fails, so a probe that is too strict can cause restart loops.",
    'Horizontal scaling works best when the service keeps no state in memory between requests.',
    'Blue-green deployments keep the previous version running, which makes rolling back almost instantaneous.',
    'Feature flags decouple deploying code from releasing functionality to users.',
  ],
  // security
  [
    'Never build SQL statements by concatenating user input; use parameterized queries instead.',
    'Passwords must be hashed with a slow, salted algorithm such as Argon2 or bcrypt, never with a plain hash function.',
    'Cross-site scripting happens when untrusted input is rendered as HTML without proper escaping.',
    'The principle of least privilege says each component should have exactly the permissions it needs, and no more.',
    'Rotate credentials regularly and make sure the rotation process is automated and tested.',
    'Rate limiting protects your service from accidental floods as well as deliberate abuse.',
  ],
  // data
  [
    'A pandas DataFrame is essentially a table with labeled rows and columns, backed by NumPy arrays.',
    'Vectorized operations are usually orders of magnitude faster than looping over rows in Python.',
    'Missing values can be dropped, filled with a constant, or imputed, and the right choice depends on why they are missing.',
    'Always split your data into training and test sets before looking at it too closely, to avoid leaking information.',
    'Cross-validation gives a more reliable estimate of performance than a single train-test split.',
    'Overfitting means the model has memorized the training data instead of learning patterns that generalize.',
    'Regularization adds a penalty for complexity, nudging the model toward simpler explanations.',
    'Accuracy can be misleading on imbalanced datasets, so look at precision, recall, and the confusion matrix as well.',
    'Feature scaling matters for distance-based models such as k-nearest neighbors and support vector machines.',
    'A learning rate that is too high makes training diverge, while one that is too low makes it painfully slow.',
    'Batch normalization often allows larger learning rates and makes training less sensitive to initialization.',
    'Transformers process all tokens of a sequence in parallel, using attention to relate each token to the others.',
    'The context window limits how much text a language model can consider at once.',
    'Embeddings map words or documents to vectors, so that similar meanings end up close to each other.',
    'Retrieval-augmented generation combines a search step with a language model to ground answers in your own documents.',
  ],
  // frontend
  [
    'React re-renders a component whenever its state or props change, and by default its children re-render too.',
    'Memoization with useMemo only pays off when the computation is expensive or the result is passed to a memoized child.',
    'Keys in a list help React match elements between renders; using the array index as a key can cause subtle bugs.',
    'CSS Grid is ideal for two-dimensional layouts, while Flexbox shines for arranging items along a single axis.',
    'Lazy loading images below the fold can noticeably improve the initial page load.',
    'Accessibility is easier to build in from the start than to retrofit later.',
    'Semantic HTML gives screen readers the structure they need to describe the page.',
    'Server-side rendering improves the first paint, but it adds complexity around data fetching and hydration.',
  ],
  // practice
  [
    'A good commit message explains why the change was made, not only what was changed.',
    'Small pull requests are reviewed faster and more thoroughly than large ones.',
    'Code review is as much about sharing knowledge as it is about catching bugs.',
    'Automated tests are most valuable when they fail for the right reasons and pass reliably otherwise.',
    'Flaky tests erode trust in the whole suite, so quarantine and fix them quickly.',
    'Property-based testing generates many random inputs and checks that an invariant holds for all of them.',
    'Integration tests catch problems at the boundaries between components that unit tests cannot see.',
    'Technical debt is not always bad; sometimes shipping quickly is the right business decision.',
    'Document the decisions, not just the code, so future maintainers understand the constraints you were under.',
    'Git rebase rewrites history, so avoid rebasing branches that other people have already pulled.',
    'A merge commit preserves the exact history, while squashing produces a cleaner but less detailed log.',
    'If you accidentally committed a secret, rotate it immediately; removing it from history is not enough.',
    'Continuous integration runs your tests on every push, catching integration problems early.',
    'Caching dependencies in CI can cut build times dramatically, as long as the cache key includes the lockfile hash.',
  ],
  // cooking
  [
    'Bread dough needs time for gluten to develop, which is why kneading or a long rest both improve the texture.',
    'Salt does more than add flavor; it also strengthens the gluten network and slows fermentation.',
    'Searing meat does not seal in juices, but it does create flavor through the Maillard reaction.',
    'Let roasted meat rest for several minutes so the juices redistribute before you slice it.',
    'A sharp knife is safer than a dull one, because it requires less force and is less likely to slip.',
    'Acid, such as lemon juice or vinegar, can brighten a dish that tastes flat even when it has enough salt.',
    'Baking is less forgiving than cooking, so weighing ingredients gives more consistent results than measuring cups.',
    'Rice absorbs water at different rates depending on its variety, so follow the ratio for the type you have.',
    'If a sauce breaks, whisking in a spoonful of warm water or a fresh egg yolk can often bring it back together.',
  ],
  // finance
  [
    'Compound interest means you earn returns not only on your original investment but also on previous returns.',
    'An emergency fund covering three to six months of expenses protects you from having to sell investments at a bad time.',
    'Diversification reduces the impact of any single investment performing poorly.',
    'Index funds offer broad diversification at a low cost, which is why they are popular with long-term investors.',
    'Paying off high-interest debt is often the best guaranteed return available.',
    'A budget is less about restriction and more about making sure your spending reflects your priorities.',
    'Inflation slowly erodes the purchasing power of cash that sits in a low-interest account.',
  ],
  // health
  [
    'Regular moderate exercise improves cardiovascular health, mood, and sleep quality.',
    'Strength training twice a week helps maintain muscle mass and bone density as you age.',
    'Progressive overload means gradually increasing the weight, volume, or intensity of your workouts.',
    'Most adults need somewhere between seven and nine hours of sleep per night.',
    'Staying hydrated matters, but the exact amount you need depends on your size, activity, and climate.',
    'If you have symptoms that worry you, please consult a healthcare professional rather than relying on general advice.',
  ],
  // science
  [
    'Photosynthesis converts light energy into chemical energy stored in glucose.',
    'The mitochondria produce most of the cell\'s supply of ATP, the molecule that powers cellular processes.',
    'DNA carries genetic instructions, while RNA helps translate those instructions into proteins.',
    'Plate tectonics explains why earthquakes and volcanoes cluster along the boundaries between plates.',
    'The greenhouse effect is natural and necessary, but adding more greenhouse gases strengthens it.',
    'Light from distant galaxies is stretched toward longer wavelengths as the universe expands.',
    'Entropy tends to increase in an isolated system, which gives time its apparent direction.',
    'Quantum entanglement does not allow information to travel faster than light, despite popular descriptions.',
    'Vaccines train the immune system to recognize a pathogen without causing the disease itself.',
    'Antibiotics work against bacteria but have no effect on viruses such as the common cold.',
  ],
  // history
  [
    'The printing press dramatically lowered the cost of books and helped spread literacy across Europe.',
    'The Industrial Revolution began in Britain in the late eighteenth century, driven by textiles, coal, and steam power.',
    'Historians often caution against explaining complex events with a single cause.',
    'The fall of the Western Roman Empire was a gradual process rather than a single dramatic event.',
    'Trade routes such as the Silk Road carried ideas and technologies as well as goods.',
    'Primary sources give direct evidence from the period, while secondary sources interpret and analyze that evidence.',
  ],
  // travel
  [
    'When traveling, keep digital copies of your passport and important documents in a secure place.',
    'Booking flights on weekdays and avoiding peak holiday periods can reduce costs significantly.',
    'Learning a few phrases in the local language goes a long way toward friendly interactions.',
    'Travel insurance is worth considering for longer trips or destinations with expensive healthcare.',
    'Jet lag is usually easier to manage if you adjust your sleep schedule a few days before departure.',
  ],
  // work
  [
    'Clear writing starts with knowing exactly what you want the reader to take away.',
    'Use the active voice when you can; it usually makes sentences shorter and easier to follow.',
    'A strong introduction tells the reader what problem you are addressing and why it matters.',
    'Cut any sentence that does not support the main point, even if you like how it sounds.',
    'Reading your draft aloud is a simple way to catch awkward phrasing and missing words.',
    'In a negotiation, knowing your alternative if no agreement is reached gives you a clearer sense of your limits.',
    'Giving feedback works best when it is specific, timely, and focused on behavior rather than personality.',
    'Meetings without a clear agenda tend to expand to fill the time available.',
    'Writing things down forces you to discover the gaps in your own understanding.',
    'Breaking a large goal into small, concrete steps makes it much easier to start.',
    'Consistency usually matters more than intensity when building a new habit.',
  ],
  // fundamentals
  [
    'Under the hood, this uses a hash map, so lookups take constant time on average.',
    'The time complexity is O(n log n) because of the sort, while the memory usage stays linear.',
    'Recursion is elegant here, but for very deep inputs an explicit stack avoids overflowing the call stack.',
    'A binary search only works on sorted data, so sorting first may dominate the overall cost.',
    'Floating-point numbers cannot represent most decimal fractions exactly, which is why 0.1 + 0.2 is not exactly 0.3.',
    'For money, store integer cents or use a decimal type instead of binary floating point.',
    'Time zones are notoriously tricky; store timestamps in UTC and convert only when displaying them.',
    'Unicode normalization matters when comparing strings that look identical but are encoded differently.',
    'Regular expressions are powerful, but a complicated pattern is often clearer as a few lines of ordinary code.',
  ],
];

/** Hedges and transitions that fit any subject. */
export const CONNECTIVES: readonly string[] = [
  'That said, there is no universal answer, and the right choice depends on your constraints.',
  'In practice, most teams start with the simple approach and only add complexity when measurements demand it.',
  'One thing to watch out for is that this behavior changed between major versions.',
  'This is not a bug in your code; it is the documented default, which surprises many people.',
  'The main downside is the extra operational complexity, which is easy to underestimate.',
  'On the other hand, the performance gain is substantial when the workload is read-heavy.',
  'For most applications, the default settings are a sensible starting point.',
  'If you only remember one thing from this answer, make it this: measure before and after every change.',
  'Keep in mind that benchmarks on your laptop may not reflect production traffic patterns.',
  'It is worth checking whether the library already provides this feature before implementing it yourself.',
];
