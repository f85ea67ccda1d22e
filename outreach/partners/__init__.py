"""Partners: the local medico-social directory alerts refer seniors to (CCAS, CLIC, ...)."""
