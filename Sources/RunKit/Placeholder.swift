// RunKit: placeholder until its first file lands (replace me).
