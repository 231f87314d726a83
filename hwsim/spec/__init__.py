"""hwsim.spec"""
