import { ANONYMOUS_TENANT, tenantOf } from '../apps/sample/src/common/tenant';

describe('sample app tenant', () => {
  it('keeps requests without a tenant apart from any tenant a caller can name', () => {
    expect(tenantOf({})).toBe(ANONYMOUS_TENANT);
    expect(tenantOf({ 'x-tenant-id': 'public' })).toBe('public');
    expect(tenantOf({ 'x-tenant-id': 'public' })).not.toBe(tenantOf({}));
    expect(() => tenantOf({ 'x-tenant-id': ANONYMOUS_TENANT })).toThrow(/X-Tenant-Id must be/);
  });
});
