"""Operations: Prometheus metrics and graceful shutdown."""
