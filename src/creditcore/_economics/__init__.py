"""Private: the economics report, the valuation rules and the usage simulator."""
