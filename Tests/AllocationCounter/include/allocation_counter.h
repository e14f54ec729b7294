// Counts heap allocations made while counting is on, to check that a training step allocates nothing.
#ifndef TTM_ALLOCATION_COUNTER_H
#define TTM_ALLOCATION_COUNTER_H
void ttm_allocation_counting(int enabled);
long ttm_allocation_count(void);
#endif
