// Node 20.12–20.14 have no zlib.crc32: the Redis option must fail at startup there, not degrade every write.
describe('createRedisClient on a Node without zlib.crc32', () => {
  it('fails with the Node version needed, before connecting', () => {
    jest.isolateModules(() => {
      jest.doMock('node:zlib', () => ({ ...jest.requireActual<object>('node:zlib'), crc32: undefined }));
      const { createRedisClient } = require('./redis.connection') as typeof import('./redis.connection');
      const errors = require('../core/errors') as typeof import('../core/errors');
      expect(() => createRedisClient('redis://127.0.0.1:1', { commandTimeout: 100, connectTimeout: 100 })).toThrow(errors.InvalidOptionError);
      expect(() => createRedisClient('redis://127.0.0.1:1', { commandTimeout: 100, connectTimeout: 100 })).toThrow(
        /the 'redis' option needs Node 20\.15 or later \(zlib\.crc32/,
      );
    });
  });
});
