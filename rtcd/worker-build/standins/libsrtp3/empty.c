/* intentionally empty: the real library comes from Debian */
