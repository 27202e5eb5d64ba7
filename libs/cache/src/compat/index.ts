/** `@strata/cache/compat`: the cache-manager compatibility entry point (filled by the compat layer). */
export {};
