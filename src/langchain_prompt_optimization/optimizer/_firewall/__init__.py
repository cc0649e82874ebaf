"""The feedback firewall's internals; the public names live in `optimizer.firewall`."""
