"""hwsim.dse"""
