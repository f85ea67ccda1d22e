"""Météo-France's vigilance map: read it, store it, propose (or make) the canicule
activation to the organisations whose seniors live where it turns orange or red."""
