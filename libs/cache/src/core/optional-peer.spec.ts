import { MissingPeerError, StrataError } from './errors';
import { findPeer, loadPeer } from './optional-peer';

describe('optional peers', () => {
  it('loads an installed package', () => {
    expect(loadPeer<typeof import('ms')>('ms', 'test')('1m')).toBe(60_000);
    expect(findPeer<typeof import('ms')>('ms')).toBeDefined();
  });

  it('names the missing package, the feature that needs it and the command that installs it', () => {
    let error: unknown;
    try {
      loadPeer('strata-not-installed-peer', "the 'redis' option");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MissingPeerError);
    expect(error).toBeInstanceOf(StrataError);
    expect((error as MissingPeerError).code).toBe('E_MISSING_PEER');
    expect((error as Error).message).toBe(
      "Strata cache: the 'redis' option needs the package 'strata-not-installed-peer', which is not installed; install strata-not-installed-peer: npm i strata-not-installed-peer",
    );
  });

  it('answers undefined for a feature on by default whose package is not installed', () => {
    expect(findPeer('strata-not-installed-peer')).toBeUndefined();
  });
});
