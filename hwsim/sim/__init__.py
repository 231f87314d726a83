"""hwsim.sim"""
