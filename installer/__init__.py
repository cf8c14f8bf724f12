"""Install the CrystalX plugin into an Olex2 installation (copy + register, nothing else)."""
