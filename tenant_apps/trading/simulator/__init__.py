"""The bundled MT5 trading-server simulator: a test peer and demo engine speaking the Web API subset we use.

Never imported by product code (tests/trading/test_simulator.py enforces it); started by
`manage.py run_trading_sim` (make run) and by the tests' fixtures. `server` has `TradingSimulator` and
`SimConfig` (lifecycle, fault modes, control API); `handler` the HTTP side; `store` and `models` the server's
state; `market` prices and random client trading; `records` the wire shape of each record.
"""
