"""The two ends of a channel's life: closed channels kept readable, the close and open
procedures (planned, approved, journaled, resumable), and the advice behind them."""
