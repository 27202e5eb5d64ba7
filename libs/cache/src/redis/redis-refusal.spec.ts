import { redisRefusal } from './redis-refusal';

/** The replies below are what redis-server 7.0 sent in each state (`redis-refusals.spec.ts` provokes them for real). */
describe('redisRefusal', () => {
  const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

  it.each([
    ["OOM command not allowed when used memory > 'maxmemory'.", /maxmemory-policy/, true],
    ["OOM command not allowed when used memory > 'maxmemory'. script: c851e07dc6c531a601df4b9c5ced0923d5d023bd, on @user_script:1.", /maxmemory-policy/, true],
    ["MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", /BGSAVE/, true],
    ["READONLY You can't write against a read only replica.", /read-only replica/, true],
    ["NOPERM this user has no permissions to run the 'set' command", /lacks a permission/, false],
    ["ERR The user executing the script can't run this command or subcommand script: 37248a63, on @user_script:6.", /lacks a permission/, false],
    ["ERR ACL failure in script: this user has no permissions to run the 'set' command script: 37248a63, on @user_script:6.", /lacks a permission/, false],
  ])('%s', (message, explanation, readable) => {
    expect(redisRefusal(reply(message))?.why).toMatch(explanation);
    expect(redisRefusal(reply(message))?.readable).toBe(readable);
  });

  it.each(['Command timed out', 'Connection is closed.', "ERR Error running script (call to f_1): @user_script:1: user_script:1: Script attempted to access nonexistent global variable 'x'", 'LOADING Redis is loading the dataset in memory'])(
    'not a refusal: %s',
    (message) => expect(redisRefusal(reply(message))).toBeUndefined(),
  );

  it('not an error at all', () => expect(redisRefusal('OOM')).toBeUndefined());
});
