"""Front-ends: they recognise what code does to the database and emit `txlint.core.ir`."""
