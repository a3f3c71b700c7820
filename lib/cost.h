/*
 * cost.h - what a request costs: the prices of one provider and model,
 * and the arithmetic that turns token counts into money (cost.c).  Prices
 * are in money per million tokens, in whatever currency the configuration
 * uses; conf/conf-prices.c reads them.
 */
#ifndef FX_COST_H
#define FX_COST_H

struct fx_prices {
    double input;        /* price_input: prompt tokens not from a cache */
    double output;       /* price_output: completion tokens, reasoning too */
    double cached_input; /* price_cached_input: read from a prompt cache;
                            price_input when unset */
    double cache_write;  /* price_cache_write: written to a prompt cache;
                            price_input when unset */
};

/* Token counts as the providers report them after parsing: cached and
 * cache_write are parts of prompt, reasoning a part of completion. */
struct fx_usage {
    long prompt, completion, cached, cache_write, reasoning;
};

/*
 * The cost of `u` at `p`: every token priced once, the uncached prompt
 * (prompt - cached - cache_write, never below 0) at input, cached at
 * cached_input, cache_write at cache_write and the completion (reasoning
 * included) at output.
 */
double fx_cost(const struct fx_prices *p, const struct fx_usage *u);

#endif
