"""hwsim.reference"""
