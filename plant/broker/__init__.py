"""Broker operations: the Mosquitto and embedded broker processes, device identities and ACLs."""
