"""hold"""
