/**
 * The log position of a message of instance `origin` as the channel carries it (`{"e":"<epoch>",
 * "i":"<id>","o":"<origin>",…`: the Redis transport stamps the message, which starts with its origin),
 * read without parsing the rest: every write of an instance comes back to it on the channel, and a
 * batched message can hold many keys. Undefined for anything else (another instance's message, another
 * transport's form), which the bus parses and checks.
 */
export function ownPosition(text: string, origin: string): readonly [epoch: string, id: string] | undefined {
  if (!text.startsWith('{"e":"')) return undefined;
  const epochEnd = text.indexOf('"', 6);
  if (epochEnd < 0 || !text.startsWith('","i":"', epochEnd)) return undefined;
  const idEnd = text.indexOf('"', epochEnd + 7);
  if (idEnd < 0 || !text.startsWith(`,"o":${JSON.stringify(origin)},`, idEnd + 1)) return undefined;
  return [text.slice(6, epochEnd), text.slice(epochEnd + 7, idEnd)];
}
