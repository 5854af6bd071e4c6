"""Alert rules on the server (issue #16): rules and their REST API, one evaluator across
workers coordinated through the database, deliveries to webhooks, Slack and email, spend
digests and the month-end forecast. See docs/budgets.md."""
