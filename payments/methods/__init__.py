"""Payment methods per terminal: what each terminal accepts (with merchant → store → terminal
inheritance), the MULTIBANCO payment entities, the check against SIBS's ``paymentMethodList``,
requests for new methods, and what notifications told us about mandates and card tokens."""
